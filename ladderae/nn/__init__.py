"""Keras pieces and the walk: layers, combinators, likelihoods, losses, stop-gradient modes, schedules, the walk of a
graph's layers (`walk`, `ladder_walk`), the objective and the latents."""
