"""One module per sender scheme; `relay.providers.registry` maps `provider = …` names to them."""
