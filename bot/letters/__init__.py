"""Letters home: what a letter says (:mod:`.content`) and how it becomes a PDF (:mod:`.pdf`)."""
