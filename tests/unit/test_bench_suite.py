"""`make bench` part d. judges the fast loop on wall time and on CPU time (ADR 0041)."""

from tools.bench.run import report, suite_verdict


def test_the_goal_needs_both_the_wall_time_and_the_cpu_time():
    assert suite_verdict(80, 170, 2) == {"wall_met": True, "cpu_met": True, "met": True}
    # a busy machine: the wall time is over, the CPU time says an idle machine would make it
    assert suite_verdict(300, 170, 2) == {"wall_met": False, "cpu_met": True, "met": False}
    # an idle machine cannot make 90 s with more CPU than 2 cores spend in 90 s
    assert suite_verdict(85, 200, 2) == {"wall_met": True, "cpu_met": False, "met": False}
    assert suite_verdict(85, 200, 4)["met"]


def test_the_report_shows_both_times_against_the_goal():
    suite = {
        "command": "make test",
        "seconds": 120.0,
        "cpu_seconds": 160.0,
        "cores": 2,
        "load_average": [3.0, 4.0],
        "passed": True,
        "summary": "1387 passed",
        **suite_verdict(120.0, 160.0, 2),
    }
    text = report({"suite": suite, "cold": [], "warm": [], "placement": [], "gateway": []})
    lines = [line for line in text.splitlines() if line.startswith("  ")]
    assert any(line.startswith("  wall 120.0 s") and line.endswith("MISSED") for line in lines), text
    assert any(line.startswith("  CPU  160 s on 2 cores") and line.endswith("ok") for line in lines), text
    assert "  goal MISSED" in lines, text
