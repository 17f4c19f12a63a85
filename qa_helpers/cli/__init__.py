"""The command line (`python -m qa_helpers`): the series' commands and your own logs' validate, pretrain, embed,
probe and tune, with batch embedding to Parquet (and Ray Data).
"""
