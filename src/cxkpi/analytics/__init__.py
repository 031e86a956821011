"""Analytics over the warehouse (layer 3): verbatim sentiment; forecasts, staffing and quality next."""
