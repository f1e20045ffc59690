"""Networks: the model base class and model kinds, shared layers, losses."""
