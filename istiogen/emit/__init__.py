"""Writing rendered trees: the atomic writer (:mod:`.writer`) and new single files (:mod:`.files`).

This is the last stage: it takes the bytes the pipeline produced and never imports render.
"""
