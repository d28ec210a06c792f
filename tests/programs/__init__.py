"""Small programs written the way public PyTorch teaching code is written (a minimal GPT with
its trainer, an examples-style MNIST script, a translation model on nn.Transformer), to be run
unchanged under PyTorch and, with only the imports changed, under labkit (see
tests/test_real_programs.py).  They are our own code, not copies."""
