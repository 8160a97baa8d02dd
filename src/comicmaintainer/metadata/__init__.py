"""Series metadata from online sources: one client module per source, ranking in `match`.

A series is a folder of chapters. It is searched once by name, the best candidate is taken when it
is confident enough (`match`), and its fields are written into every chapter (`apply`). Answers are
cached in the store, so reprocessing a library asks the sources nothing new.
"""
