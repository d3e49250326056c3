"""Reading files into clean text with exact spans: loaders, cleaning, chunking, sentences,
abbreviations, tables (one row a block, `tables`; PDF tables found by `pdf_tables`), and
the two modules every room shares, `text` (the one tokeniser, stemmer,
stop list, number and citation-marker rules) and `errors` (the one exception tree).

The bottom of the stack: imports nothing of index/, app/ or eval/.
"""
