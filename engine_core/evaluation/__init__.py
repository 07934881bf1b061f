"""Model evaluation: figures on generated loops beside corpus and naive baselines.

- `metrics`: MusPy's per-loop descriptors (pitch-class entropy, scale consistency,
  polyphony, empty-beat rate, groove consistency) and notes per bar.
- `joins`: the join measure between two bars, and the seam check (seam join vs inner joins).
- `diversity`: pairwise note overlap inside a variant set.
- `originality`: a hash index of the training pieces' two-bar windows (transposition-invariant).
- `adherence`: requested mode vs detected mode; a control's measure per control level.
- `baselines`: held-out corpus windows, an untrained model, shuffled-notes windows.
- `conditions`: the spread of requests the model is evaluated on.
- `suite`: runs everything (`ostinato eval-model`) into an `EvaluationReport`.
- `report`: the report as JSON and as a text table.

Pure numpy except `baselines` and `suite`, which drive the model (torch).
"""
