"""sysret-verify: prove that every path to SYSRET in a built x86-64 kernel is safe."""

__version__ = "0.1.0"
