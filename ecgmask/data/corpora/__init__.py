"""Generated ECG corpora, written as WFDB trees that `ecgmask.data.WfdbSource` reads:

- `synthetic`: the heart-dipole generator of the default study (`default_study`);
- `deepfake`: DeepFake ECGs from the `deepfake-ecg` package's Pulse2Pulse generator (extra `deepfake`);
- `tree_writer`: the atomic write of a generated tree that both share.
"""
