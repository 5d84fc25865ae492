"""Turns time into resumes: plans sends, keeps them out of quiet time, and ticks."""
