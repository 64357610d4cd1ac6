def explain(f, *args): return ""
