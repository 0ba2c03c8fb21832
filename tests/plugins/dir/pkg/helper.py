WORD = "from a helper module"
