-- mx.viz: placeholder until its issue lands.
return {}
