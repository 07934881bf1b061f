"""Sample games: `sample_game.demo` is a headless one that plays a scripted session."""
