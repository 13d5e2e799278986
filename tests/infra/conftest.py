"""Makes the repository root importable so tests can import the `infra` Pulumi program."""
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import pytest  # noqa: E402

import nuri_infra_mocks as mocks  # noqa: E402



@pytest.fixture(scope="session")
def minimal():
    return mocks.render(mocks.MINIMAL)


@pytest.fixture(scope="session")
def existing_example():
    return mocks.render(mocks.stack_config("example-existing"))


@pytest.fixture(scope="session")
def eks_example():
    return mocks.render(mocks.stack_config("example-eks"), kubeconfig=None)
