"""Files a game or a designer uses: MIDI of an arrangement, WAV with loop points, FLAC, OGG."""
