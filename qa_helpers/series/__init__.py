"""The notebook series: profiles, cached artifacts, chapter set-up, the papermill runner, outputs and plots, the
claims rule and the prose read from recorded numbers, the datasheet, the results page and the book.
"""
