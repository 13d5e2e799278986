"""The program's shape: modules create nothing at import time; __main__ only composes."""
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import infra
from nuri_infra_mocks import REPO_ROOT

MODULES = [m.name for m in pkgutil.iter_modules(infra.__path__) if m.name != "__main__"]


IMPORT_CHECK = """
import importlib, sys
sys.path[:0] = [{root!r}, {here!r}]
import pulumi
from nuri_infra_mocks import PlatformMocks
mocks = PlatformMocks()
pulumi.runtime.set_mocks(mocks, project="nuri", stack="import-check", preview=False)
@pulumi.runtime.test  # waits until every registration the imports might have started is done
def import_all():
    for name in {modules!r} + ["__main__"]:
        importlib.import_module("infra." + name)
import_all()
print(len(mocks.registered))
"""


def test_importing_any_module_creates_no_resources():
    # A fresh interpreter, so that every module is really imported under the mocks.
    script = IMPORT_CHECK.format(root=str(REPO_ROOT), here=str(Path(__file__).parent), modules=MODULES)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "0"


def test_main_only_composes_and_exports():
    tree = ast.parse((REPO_ROOT / "infra" / "__main__.py").read_text())
    calls = {node.func.attr for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    # Module entry points and output helpers only; no resource constructors here.
    assert calls <= {"create", "deploy", "apply", "create_all", "from_input", "secret", "items", "load", "export",
                     "insert", "resolve"}, calls


def test_no_module_shadows_the_standard_library():
    assert not set(MODULES) & set(sys.stdlib_module_names)
