"""The learned world simulator: a small Sora-style diffusion transformer trained on scenario Episodes.

    python -m simulator train --config tiny          # train (resumes a killed run)
    python -m simulator sample --checkpoint runs/tiny --episode data/episodes/gravity/free_fall/free_fall-0000000
    simulator.adapter.load("simulator/reference").rollout(context_frames, caption, task)
"""
