-- mx.random: placeholder until its issue lands.
return {}
