"""Drawing: the canvas a person draws a digit on and what the network makes of it.

The canvas, its 28x28 preview, the probability bars and saliency, teaching a drawing, image files.
Imports the engine (preprocessing, predictor) and Qt; never the training plumbing.
"""
