"""One module per sender scheme; `registry` maps `provider = …` names to them."""
