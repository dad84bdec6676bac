-- mx.initializer: placeholder until its issue lands.
return {}
