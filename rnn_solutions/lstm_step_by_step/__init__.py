"""The LSTM step-by-step assignment: its reference (`lstm.py`)."""
