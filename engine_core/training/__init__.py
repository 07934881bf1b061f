"""Training: windows of bars with measured controls, the training loops, `make train`."""
