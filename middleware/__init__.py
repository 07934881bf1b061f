"""Everything around the engine: templates, cache, scheduler, director, service, bake."""
