"""The notebook series: profiles (config), a profile mapped onto the method (pipeline, prompts), cached artifacts
(artifacts), chapter set-up (chapter), the papermill runner (runner), outputs and plots (outputs, plots), the claims
rule and the prose read from recorded numbers (claims, readings, exercises, paper, recipes), the datasheet
(datasheet), the results page (results_page) and the book (book). It imports method, useru and synthetic, never cli.
"""
