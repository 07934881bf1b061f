"""Training data: music21's corpus (or a studio's folder of scores) as bar piano rolls."""
