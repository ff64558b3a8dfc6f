"""CacheBlend injection webhook.

A mutating admission webhook that adds the CacheBlend vLLM plugin, and the vLLM flags it
needs, to pods that opt in. The package is split so that the decision itself
(`inject.decide`) is a pure function; everything that talks to the network sits around it.
"""
