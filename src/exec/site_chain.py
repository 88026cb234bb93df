# Appended by pybench to each sitecustomize.py it generates (`record`'s hook, `exec`'s
# engine): pybench's folder comes first on PYTHONPATH only so that its file is imported;
# once it has done its work, the program must see what it would have seen without it.


def _pybench_chain():
    # Leave sys.path as the program would have seen it, and run the sitecustomize it would
    # have imported without pybench.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        from importlib.machinery import PathFinder
        from importlib.util import module_from_spec
    except ImportError:
        return
    spec = PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_pybench_chain()
