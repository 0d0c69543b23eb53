"""Tests of glmv_local: the in-process engine on a tiny random model."""
