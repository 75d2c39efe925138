"""Typed settings, built once from the resolved parameters (config.py) by the glue layer.

Library code below the glue (data, render, models, train, evaluate, infer, report)
takes these dataclasses, never the parameter mapping: a function's signature then
says which settings it reads, and the defaults live only in params.yaml and its
schema. Each module here holds the settings of one topic and the one function
that reads them off the parameters.
"""
