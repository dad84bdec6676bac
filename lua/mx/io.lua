-- mx.io: placeholder until its issue lands.
return {}
