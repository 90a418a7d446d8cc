"""Workflow documents: the validated document, its entry points, its graph and what it names.

This package sits above ``steps/`` (a document is made of step kinds from the registry) and
below the engine, the store and the edges.
"""
