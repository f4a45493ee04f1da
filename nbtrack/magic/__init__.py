"""The %%track and %nbtrack magics: thin IPython glue over tracking."""
