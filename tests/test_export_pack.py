"""The export pack for outside models: switch frame, context as PNGs and H.264, caption, prompt, manifest."""
import json

import cv2
import numpy as np

from _evals_helpers import tiny_task
from physics_evals.export import PROMPT_TEMPLATE, export
from physics_evals.rollouts import RESAMPLING_RULE, read_video
from scenarios import load_episode


def test_pack_holds_switch_frame_context_video_prompt_and_rule(tmp_path):
    task = tiny_task(n_episodes=1, context=4, horizon=6)
    path = export([task], tmp_path / "pack", tmp_path / "episodes", workers=1, progress=False)
    manifest = json.loads(path.read_text())
    assert manifest["resampling_rule"] == RESAMPLING_RULE and manifest["prompt_template"] == PROMPT_TEMPLATE
    t = manifest["tasks"][task.name]
    assert (t["height"], t["width"], t["fps"], t["context_frames"], t["horizon"]) == (32, 32, 15, 4, 6)
    assert t["horizon_seconds"] == 6 / 15 and t["switch_frame_index"] == 3 and t["aspect_ratio"] == "1:1"
    (e,) = t["episodes"]
    truth = load_episode(task.episode_folders(tmp_path / "episodes")[0])
    pack = tmp_path / "pack"
    # PNGs are lossless: the switch frame is the last context frame exactly
    switch = cv2.cvtColor(cv2.imread(str(pack / e["switch_frame"])), cv2.COLOR_BGR2RGB)
    assert np.array_equal(switch, truth.rgb[task.context - 1])
    assert len(e["context_pngs"]) == task.context
    # the video is H.264 that PyAV reads back: the context frames, at the task's rate, close to the PNGs
    assert e["context_video_codec"] == "h264"
    frames, times, _ = read_video(pack / e["context_video"])
    assert frames.shape == (task.context, 32, 32, 3)
    assert np.allclose(times, np.arange(task.context) / task.fps, atol=1e-3)
    assert np.abs(frames.astype(int) - truth.rgb[:task.context]).mean() < 6
    prompt = (pack / e["prompt_file"]).read_text().strip()
    assert prompt == e["prompt"] and prompt.startswith(truth.caption[:1].upper() + truth.caption[1:].rstrip("."))
    assert "0.40 seconds at 15 frames per second" in prompt
