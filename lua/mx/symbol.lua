-- mx.symbol: placeholder until its issue lands.
return {}
