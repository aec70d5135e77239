"""The MNIST benchmark in parts, one job each (`mnist_vs_vae.py` is the command line).

- `spec`: what a run is (presets, pair modes, the typed rows and run specs);
- `plan`: which runs a benchmark makes (sweep, main table, speed, the IWAE-paper protocol);
- `schedule`: the IWAE paper's learning-rate stages as a Keras schedule;
- `run`: one run, resumable after a kill, and the runner that resumes from saved JSON;
- `floor`: the compute floor, from the model's graph and the machine's matmul rate;
- `report`: the summary tables and the record of machine, versions and commit.
"""
