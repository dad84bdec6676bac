-- mx.log: placeholder until its issue lands.
return {}
