-- mx.model: placeholder until its issue lands.
return {}
