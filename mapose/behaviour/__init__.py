"""Behaviour analysis: unsupervised discovery (clustering) and supervised classifiers.

Import from the submodules (``mapose.behaviour.clustering``, ``mapose.behaviour.classifier``,
``mapose.behaviour.bouts``).
"""
