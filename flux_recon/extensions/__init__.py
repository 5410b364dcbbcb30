"""Flask extensions: Api/Blueprint, merchant auth, database, pager, secret encryption."""
