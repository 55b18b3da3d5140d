"""Shared command-line options: --tasks and --models take space- and comma-separated lists alike."""
import pytest

from physics_evals import run_cli
from toolkit.cli import OneLineParser


def parse(argv):
    p = OneLineParser(prog="run")
    run_cli.add_arguments(p)
    return p.parse_args(argv)


@pytest.mark.parametrize("argv", [["--tasks", "gravity-drop", "bite"], ["--tasks", "gravity-drop,bite"],
                                  ["--tasks", "gravity-drop,", "bite"], ["--tasks", "gravity-drop", ",bite"]])
def test_tasks_take_commas_and_spaces(argv):
    assert parse(argv).tasks == ["gravity-drop", "bite"]


def test_models_take_commas_and_spaces():
    a = parse(["--models", "ground_truth,copy_last_frame", "rollouts:out/x"])
    assert a.models == ["ground_truth", "copy_last_frame", "rollouts:out/x"]


def test_an_empty_list_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        parse(["--tasks", ","])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--tasks needs at least one name" in err[0]
