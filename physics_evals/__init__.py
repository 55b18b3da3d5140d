"""The harness: tasks x models -> rollouts -> metrics -> results.json -> leaderboard (see docs/design.md)."""
import os

# FFmpeg inside OpenCV prints its own lines ("moov atom not found") before the harness's one-line error
# about the same file; keep it quiet unless the user chose a level.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
