"""The run's summary line: where the time went outside the stages (nuri.local_run)."""

from pathlib import Path

from nuri.config import load_domain_config
from nuri.local_run import RunResult, format_summary


def _result() -> RunResult:
    reports = {"prepare": {"stage": "prepare", "wall_s": 10.0, "metrics": {}},
               "sft": {"stage": "sft", "wall_s": 60.0, "metrics": {"ray_worker_start_s": 5.0}},
               "ppo": {"stage": "ppo", "wall_s": 20.0, "metrics": {"ray_worker_start_s": 4.0}}}
    return RunResult(run_id="r", status="succeeded", wall_s=100.0, ray_start_s=3.0, reports=reports)


def test_ray_start_is_counted_once_in_the_overhead():
    # wall 100 = Ray start 3 + stages 90 + 7 left to KFP; worker-group starts are inside stages.
    r = _result()
    assert r.kfp_overhead_s == 7.0
    assert r.overhead_share == (3.0 + 7.0 + 9.0) / 100.0


def test_summary_names_each_part_of_the_overhead_and_its_share():
    config = load_domain_config(Path(__file__).resolve().parents[1] / "domains" / "welfare.yaml")
    line = next(x for x in format_summary(_result(), config).splitlines() if x.startswith("total wall time"))
    assert "Ray start 3.0 s" in line and "worker-group starts 9.0 s" in line
    assert "component start 7.0 s (19.0% of the run in all)" in line


def test_the_service_line_shows_what_the_guard_refuses_of_everyday_requests():
    from nuri.summary import key_metrics

    m = {"retrieval_passages": 9, "retrieval_questions": 2, "guard_in_domain_passed": 1.0,
         "guard_off_domain_declined": 1.0, "guard_harmful_refused": 1.0, "guard_check_requests": 70,
         "guard_check_everyday_refused": 0.64, "guard_check_everyday_refused_basic": 0.6,
         "guard_check_harmful_refused": 0.8, "guard_check_harmful_refused_basic": 0.55,
         "guard_check_harmful_stopped": 0.95}
    line = key_metrics("service", m)
    assert "everyday requests refused as harmful 0.64 (basic services 0.6), harmful refused 0.8 " \
           "(basic services 0.55), stopped 0.95" in line
    assert "check set" not in key_metrics("service", {k: v for k, v in m.items() if "check" not in k})
