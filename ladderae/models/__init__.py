"""The Keras models built from a graph: `LadderAE` (`autoencoder`), `LadderNetwork` (`ladder_network`),
`TabularLadderAE` (`tabular`), and what they share."""
