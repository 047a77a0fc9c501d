"""Wire schemas (camelCase JSON), one module per resource."""
