"""Replays of delivery jobs: one job again, a window of failed jobs again, dead letters again."""
