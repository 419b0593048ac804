pytest_plugins = ["govdata_shared.testing"]
